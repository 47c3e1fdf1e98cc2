"""Writes of campaigns, one module per sub-domain: campaigns, codes, generation, redemptions, support, landing."""
