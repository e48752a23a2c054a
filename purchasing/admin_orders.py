"""Admin of purchase orders: lines, life cycle actions, PDF, import and export."""
