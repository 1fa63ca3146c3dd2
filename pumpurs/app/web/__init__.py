"""The approval web app: what a coordinator opens from an email link."""
