"""Order tracking tab: orders of the viewer, with their timeline, slots, exceptions and receipt."""
