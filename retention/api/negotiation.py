"""Content negotiation for the hot JSON-only endpoints.

The API answers JSON only (REST_FRAMEWORK's one renderer). DRF's default negotiation still parses the Accept
header and matches media types on every request, which measured ~5% of a redemption's CPU; with one renderer
there is nothing to choose. Request bodies are still checked against the parsers (415 for anything else).
"""

from rest_framework.negotiation import DefaultContentNegotiation


class JsonOnlyNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
