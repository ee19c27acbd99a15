"""Reply policies: what the agent's replies must do whatever the model would say."""
