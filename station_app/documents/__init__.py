"""The document renderer: lays filled documents out as PDF (reportlab lives only here)."""
