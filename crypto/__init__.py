"""tipbox's sealed formats, shared by the server, the browser and the offline CLI.

Every sealed object is an age v1 file (https://c2sp.org/age) made by pyrage;
tipbox adds only what FORMAT.md in this directory specifies: the tip payload
v1, Padmé padding, attachment sealing, the signed export bundle and key
manifest, and reviewer identity files. Compatibility promise: files written by
a version of this package stay readable by every later version of the same
format version; a new incompatible format gets a new version number and
readers refuse versions they do not know.

This package must not import Flask, SQLAlchemy or anything from ``tipbox`` or
``review_cli`` (a test enforces it): the offline CLI installs it without them.

Modules: :mod:`.envelope` (seal/open), :mod:`.header` (strict age header
checks), :mod:`.padding`, :mod:`.payload`, :mod:`.attachments`,
:mod:`.identity`, :mod:`.signing`, :mod:`.key_manifest`, :mod:`.bundle`,
:mod:`.errors`.
"""
