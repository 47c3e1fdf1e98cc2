from django.core.management.base import BaseCommand

from retention.actors import Actor
from retention.services.api_keys import create_api_key


class Command(BaseCommand):
    help = "Create an API key for a shop and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who uses the key, e.g. 'Main shop'.")

    def handle(self, *args, name: str, **options):
        api_key, secret = create_api_key(name=name, actor=Actor.system("manage.py create_api_key"))
        self.stderr.write(f"Created API key {api_key.name!r} ({api_key.prefix}…). It is shown only this once:")
        self.stdout.write(secret)
