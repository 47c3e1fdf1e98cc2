"""Racing real database connections in tests (PostgreSQL: mark such tests `@pytest.mark.postgres`)."""

import threading

from django.db import connections


def run_together(clients: int, work, *, flatten: bool = False) -> list:
    """Run work(number) for number in range(clients), each in its own thread and so on its own database
    connection, released at the same moment by a barrier; return what each returned, in client order
    (concatenated when `flatten`, for work that returns lists). An exception in any thread fails the test:
    a crash must never pass as a refusal."""
    barrier = threading.Barrier(clients)
    outcomes: list = [None] * clients
    errors: list[Exception] = []

    def client(number: int) -> None:
        try:
            barrier.wait()
            outcomes[number] = work(number)
        except Exception as error:  # noqa: BLE001 - surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a client was still running after 120 s"
    assert errors == [], errors
    return [item for outcome in outcomes for item in outcome] if flatten else outcomes
