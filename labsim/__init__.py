"""labsim: a Twisted-based multi-organization lab simulator for Exchange Domain Security."""

__version__ = "0.1.0"
