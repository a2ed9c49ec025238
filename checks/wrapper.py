"""The claudex wrapper: installed where the user runs it, and passing arguments through exactly."""

from claudex_doctor.graph import check

from ._pending import not_implemented

wrapper_installed = check("wrapper.installed", "claudex wrapper",
                          reference="references/wrapper.md#wrapper-missing", fixes=("bootstrap",))(not_implemented)
wrapper_passthrough = check("wrapper.passthrough", "Wrapper passthrough", needs=("wrapper.installed",),
                            reference="references/wrapper.md#arguments-mangled", fixes=("bootstrap",))(not_implemented)
