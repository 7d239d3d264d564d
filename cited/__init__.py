"""The project's shared top: configuration (:mod:`cited.config`), the composition root
(:mod:`cited.compose`) and the one command line (:mod:`cited.cli`)."""
