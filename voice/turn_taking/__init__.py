"""Turn taking: voice activity, and the decision that the user's turn is over."""
