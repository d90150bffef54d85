//! The PhoneFactor wire messages and their XML, in both directions, so the client and the
//! simulator share one implementation of the contract.
//!
//! - PFD (direct mode): [`AuthenticationRequest`] (our client encodes it, the simulator decodes
//!   it leniently) and [`PfdResponse`] (the simulator encodes it, our client decodes it
//!   strictly, failing closed with a [`Malformed`] reason).
//! - Agent (SOAP 1.1): [`SoapRequest`] and [`SoapResponse`], faults included.
//!
//! Everything is written with `quick-xml`'s writer and read into a small element tree
//! ([`xml::Element`]) keyed by local names.

mod pfd_request;
mod pfd_response;
mod soap;
pub mod xml;

pub use pfd_request::{
    AuthMode, AuthenticationRequest, EncodeError, PinMode, PinValue, RequestDecodeError,
    filter_extension,
};
pub use pfd_response::{AuthenticationResponse, Malformed, PfdResponse, PfdResult};
pub use soap::{
    CodeDescription, DEFAULT_NAMESPACE, FaultCode, PfAuthUserArgs, PfAuthUserResult,
    PfAuthUserVersion, SOAP_ENV_NS, SoapFault, SoapRequest, SoapRequestError, SoapResponse,
    soap_action,
};

#[cfg(test)]
mod golden;
