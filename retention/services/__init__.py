"""The core's writes, one module per sub-domain: import from the module (retention.services.customers)."""
