"""Loyalty's part of the shop API (API.md "Loyalty"): thin views over loyalty.services and loyalty.queries."""
