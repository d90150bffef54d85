//! A real Samba AD domain controller.
