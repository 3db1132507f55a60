"""ComponentResources of the consolidated Azure environment."""
