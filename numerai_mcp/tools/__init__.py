"""One module per tool family. Each validates input, calls the core, shapes the output."""
