"""The neutral scenario layer: the file format (``format``), the calls and flags both backends speak
(``calls``), and kernel generations (``generation``). Nothing here models or measures."""
