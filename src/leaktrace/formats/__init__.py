"""File formats: images (Pillow) and PDFs, read into arrays and written back like their source.

Submodules are imported on demand so that ``import leaktrace`` stays light.
"""
