"""Our crypto recipes: the only code that imports ``cryptography``.

Everything above this layer sees bytes in, bytes out: a ``Signer`` for the station's Ed25519
log key, a signature checker, slow PIN hashes, ``seal``/``unseal`` (ChaCha20-Poly1305 with a
random nonce and associated data) and a keyed digest for blind indexes. Every failure to open
or verify raises the same opaque ``CryptoFailure``: the caller learns that it failed, never
why.
"""

from station_app.crypto.pins import check_pin_hash, hash_pin
from station_app.crypto.sealing import keyed_digest, new_secret, seal, unseal
from station_app.crypto.signing import Signer, signature_checker

__all__ = ["Signer", "check_pin_hash", "hash_pin", "keyed_digest", "new_secret", "seal",
           "signature_checker", "unseal"]
