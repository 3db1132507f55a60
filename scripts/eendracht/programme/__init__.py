"""The programme: a merger of municipalities described as an Ansible inventory."""

from eendracht.programme.loader import load_programme
from eendracht.programme.models import Programme

__all__ = ["Programme", "load_programme"]
