"""More `datasetgen` subcommands, one module per command group; each module adds its commands
to `datasetgen_assets.cli.main` when imported. Importing this package imports them all."""

import importlib
import pkgutil

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_mod.name}")
