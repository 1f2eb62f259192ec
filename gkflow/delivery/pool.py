"""Channel instances (each with its kept-alive session) and rate limiters, one pool per configuration
for the life of the process, so connections are reused across batches."""

from __future__ import annotations

import threading

from gkflow.delivery.config import BUILD_KEYS, SANDBOX, ChannelsConfig
from notifications.channels import Channel, SandboxChannel, build_channel
from notifications.errors import TechnicalFailure
from notifications.policy import RateLimiter


class ChannelPool:
    """Channel instances (each with its kept-alive session) and rate limiters, built on first use."""

    def __init__(self, config: ChannelsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] = {}
        self._limiters = {name: RateLimiter(r.per_second, r.burst) for name, r in config.rates.items()}

    def channel(self, route: str) -> Channel:
        """The channel of a route; TechnicalFailure naming the missing setting if it is not configured."""
        with self._lock:
            built = self._channels.get(route)
            if built is None:
                built = self._build(route)
                self._channels[route] = built
            return built

    def _build(self, route: str) -> Channel:
        if route == SANDBOX:
            return SandboxChannel(self.config.inbox_dir)
        if route.startswith("webhook:"):
            target = route.partition(":")[2]
            spec = self.config.webhook_targets.get(target)
            if spec is None:
                raise TechnicalFailure(f"no webhook target {target!r} configured")
            return build_channel("webhook", spec)
        if route not in self.config.live:
            raise TechnicalFailure(f"channel {route!r} is not configured")
        return build_channel(route, {k: v for k, v in self.config.live[route].items()
                                     if k in BUILD_KEYS[route]})

    def limiter(self, channel: str) -> RateLimiter | None:
        return self._limiters.get(channel)

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    close()
            self._channels.clear()


_POOLS: dict[int, tuple[ChannelsConfig, ChannelPool]] = {}
_POOLS_LOCK = threading.Lock()


def channel_pool(config: ChannelsConfig) -> ChannelPool:
    """One pool per configuration object for the life of the process, so connections are reused."""
    with _POOLS_LOCK:
        entry = _POOLS.get(id(config))
        if entry is None or entry[0] is not config:
            entry = (config, ChannelPool(config))
            _POOLS[id(config)] = entry
        return entry[1]
