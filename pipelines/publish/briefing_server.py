"""Le serveur Voilà du briefing, tenu en charge (issue 18) : noyaux bornés et libérés, hôte vérifié.

Voilà as `bilans briefing` runs it (``python -m pipelines.publish.briefing_server NOTEBOOK …``):

- every page load starts a kernel of about 145 MB that nothing stopped: idle kernels are now culled
  (:data:`CULL`, jupyter_server's ``MappingKernelManager`` settings) and at most :data:`MAX_KERNELS`
  run at once, the least recently active one being shut down to make room for a new page;
- Voilà hard-codes ``allow_remote_access=True``, so a page of any site could reach it through a name
  that resolves to 127.0.0.1 (DNS rebinding): here it is off, and a request whose ``Host`` is not
  127.0.0.1, ::1 or localhost gets 403 (jupyter_server's ``check_host``);
- the page fetches nothing outside 127.0.0.1: the template ``briefing`` (gabarits/voila) drops
  Voilà's Font Awesome links to a CDN (its own bundle, voila-style.js, already serves the icons).
"""

from __future__ import annotations

from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Integer
from voila.app import Voila

TEMPLATES = Path(__file__).resolve().parent / "gabarits"  # a JUPYTER_PATH entry: voila/templates/briefing
MAX_KERNELS = 4  # pages served at once; the next one takes the kernel of the least recently active page
CULL = {
    "cull_idle_timeout": 900,  # s without activity before a kernel is stopped (an élu reads a page for minutes)
    "cull_interval": 60,  # s between two checks
    "cull_connected": True,  # a forgotten open tab does not keep its kernel for ever
}


class BoundedKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager with at most ``max_kernels`` kernels: starting one more first
    shuts down the least recently active (Voilà's preheated kernel is the newest, so it is kept)."""

    max_kernels = Integer(MAX_KERNELS, help="kernels running at once").tag(config=True)

    async def start_kernel(self, *args, **kwargs):
        while len(self.list_kernel_ids()) >= self.max_kernels:
            oldest = min(self.list_kernel_ids(), key=lambda k: self.get_kernel(k).last_activity)
            self.log.info("Briefing : %d noyaux, arrêt du moins récemment actif %s", self.max_kernels, oldest)
            await self.shutdown_kernel(oldest, now=True)
        return await super().start_kernel(*args, **kwargs)


class BriefingVoila(Voila):
    """Voilà with remote access off: requests are accepted only for a loopback ``Host``."""

    def init_settings(self) -> dict:
        settings = super().init_settings()
        settings["allow_remote_access"] = False
        settings["local_hostnames"] = ["localhost"]
        return settings


def arguments() -> list[str]:
    """The Voilà options of the briefing that hold load (kernel bound and culling, template)."""
    kernel_manager = f"{BoundedKernelManager.__module__}.{BoundedKernelManager.__name__}"
    return ([f"--VoilaConfiguration.multi_kernel_manager_class={kernel_manager}",
             f"--BoundedKernelManager.max_kernels={MAX_KERNELS}", "--template=briefing"]
            + [f"--MappingKernelManager.{key}={value}" for key, value in CULL.items()])


if __name__ == "__main__":
    BriefingVoila.launch_instance()
