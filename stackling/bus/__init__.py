"""The message bus: cast, call and publish/subscribe between services and agents."""
