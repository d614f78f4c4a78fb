"""Members: who follows the account, since when, and through which QR scene.

The walking skeleton's consumer. Later issues grow it into maternal-infant profiles and tags.
"""
