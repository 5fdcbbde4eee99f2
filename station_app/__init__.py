"""便民服务站 station app: offline-first ledger and case handling for public-service stations."""

__version__ = "0.2.0"
