"""Back-office pages of the core, one module per area. Thin: parse, authorise, call one service or query, render."""
