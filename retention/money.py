"""Money is an int of minor units plus an ISO 4217 currency. All rounding happens here."""


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero.

    Integers only, so no float error: 15% of 333 cents is round_half_up(333 * 15, 100) == 50.
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def percent_of(amount: int, percent: int) -> int:
    """`percent` % of `amount`, rounded half up."""
    return round_half_up(amount * percent, 100)


def format_money(amount: int, currency: str) -> str:
    """12345, "EUR" -> "123.45 EUR" (two minor digits; enough for the currencies shops here use)."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units:,}.{cents:02d} {currency}"
