"""PDF documents with PyMuPDF: opening (encryption, corrupt and empty files), page streaming,
metadata, text by sections, tables with calibrated confidence, images with captions, scanned
pages and OCR, page rendering. Pure functions; no Dagster here."""
