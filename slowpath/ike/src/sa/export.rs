//! HA export and import of an IKE SA: everything is in plain data (SPIs, keys, nonces,
//! message IDs both ways, the request in flight with its pending key exchange, CHILD SAs,
//! deadlines on the caller's clock), so the export is the state itself minus the undrained
//! output.

use crate::sa::ike_sa::IkeSa;

/// One IKE SA as the standby needs it.
#[derive(Debug, Clone)]
pub struct IkeSaExport {
    pub state: IkeSa,
}

impl IkeSa {
    pub fn export(&self) -> IkeSaExport {
        let mut state = self.clone();
        state.actions.clear();
        IkeSaExport { state }
    }

    /// Restores an exported SA. `seal_counter_shift` moves every AEAD explicit IV counter up,
    /// past anything the old owner may have used since the export (as `oseq-shift` does for
    /// ESP), so that no (key, IV) pair is ever used twice.
    pub fn import(export: IkeSaExport, seal_counter_shift: u64) -> IkeSa {
        let mut sa = export.state;
        crate::sa::record::shift_seal_counters(&mut sa, seal_counter_shift);
        sa
    }

    /// The inbound ESP SPIs this SA holds or has asked for.
    pub fn esp_spis(&self) -> Vec<u32> {
        use crate::sa::core::Pending;
        let mut v: Vec<u32> = self.children.iter().map(|c| c.spi_in).collect();
        let pending = self
            .core
            .as_ref()
            .and_then(|c| c.outstanding.as_ref())
            .map(|o| &o.pending);
        match pending {
            Some(Pending::CreateChild(r)) | Some(Pending::IkeAuth { child: Some(r), .. }) => {
                v.push(r.spi_in)
            }
            _ => {}
        }
        v
    }
}
