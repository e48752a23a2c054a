"""Admin of receipts against purchase orders, with their landed cost per line."""
