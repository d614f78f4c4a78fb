"""Campaigns: share-poster referral campaigns (任务宝).

Marketing ops define a campaign (how members join, the poster, invite tiers and their rewards, the
messages and the anti-fraud rules); members who join get a personal poster carrying their own
parametric QR code; friends who follow through it are credited to them; tiers grant rewards once.
"""
