"""The county server: enrollment, log mirror and cosigner, publications, relay."""
