"""Our crypto recipes: the only code that imports ``cryptography``.

Everything above this layer sees bytes in, bytes out: a ``Signer`` for the station's Ed25519
log key, a signature checker, slow PIN hashes, ``seal``/``unseal`` (ChaCha20-Poly1305 with a
random nonce and associated data), a keyed digest for blind indexes, and the
passphrase-sealed backup file (Argon2id, chunked ChaCha20-Poly1305: ``backup``). Every
failure to open or verify raises the same opaque ``CryptoFailure``: the caller learns that
it failed, never why — except a backup file, which says whether the passphrase or the
file is wrong (``SealedFileError``; the clerk must know which, and a guess costs an
attacker one Argon2id run either way).
"""

from station_app.crypto.backup import (
    KdfParams,
    SealedFileError,
    SealedHeader,
    SealedWriter,
    open_sealed,
    read_header,
)
from station_app.crypto.pins import check_pin_hash, hash_pin
from station_app.crypto.sealing import keyed_digest, new_secret, seal, unseal
from station_app.crypto.signing import Signer, signature_checker

__all__ = ["KdfParams", "SealedFileError", "SealedHeader", "SealedWriter", "Signer",
           "check_pin_hash", "hash_pin", "keyed_digest", "new_secret", "seal",
           "open_sealed", "read_header", "signature_checker", "unseal"]
