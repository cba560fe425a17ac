"""pydicom/deid recipes in and out: import a recipe as a profile, export a profile as a recipe.

:func:`import_recipe` replays a recipe's ``%header`` lines per element as pydicom/deid runs
them and writes one rule per element, quoting the deciding line; :func:`export_recipe` writes a
profile's whole effective chain as a recipe whose lines alone import back to what deid does,
except where a recipe cannot say it (:mod:`deid.recipe.fidelity`). A ``# deid {...}`` comment
above a line is trusted only where exporting its action gives back that line
(:mod:`deid.recipe.annotation`).
"""

from deid.recipe.exporter import export_recipe
from deid.recipe.importer import RecipeImport, import_recipe
from deid.recipe.parse import RecipeError

__all__ = ["RecipeError", "RecipeImport", "export_recipe", "import_recipe"]
