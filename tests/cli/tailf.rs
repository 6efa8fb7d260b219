//! `enclog tailf`: following a file through appends and rotations.
