"""The ``lggseg`` command line (installed as the package ``lggseg_cli``)."""
