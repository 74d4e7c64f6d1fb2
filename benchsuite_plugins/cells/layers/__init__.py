"""The built-in cells' layers (torch or numpy), imported by the hook modules' `build` functions."""
