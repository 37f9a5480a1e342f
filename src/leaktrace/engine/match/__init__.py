"""Which asset is this, and where is it: perceptual hashes, registration, residual extraction."""
