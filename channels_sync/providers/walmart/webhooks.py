"""Walmart Marketplace sends no order webhooks for seller-fulfilled orders: the channel is polled, and the
Provider's `webhook_path` is None (so no receiver is routed for it). The module is here so every provider
package has the same four modules.
"""
