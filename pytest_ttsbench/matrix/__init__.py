"""Models x backends x devices x variants -> targets with skip reasons; the hardware
probe; the pool that loads one engine per target and releases it."""
