"""The HTTP routes: each calls one service method and answers with its result."""
