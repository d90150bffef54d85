//! The wire API as the simulator uses it: decode what the client encodes, answer, and read
//! the answer back as the client does.

use phonefactor::wire::{
    AuthenticationRequest, AuthenticationResponse, PfdResponse, PfdResult, PinMode, PinValue,
};
use phonefactor::{CallOutcome, CallStatus, DenyReason};
use secrecy::SecretString;

#[test]
fn a_pin_request_round_trips_and_a_wrong_pin_reply_is_a_denial() {
    let mut request = AuthenticationRequest::new("41", "KEY", "akhan", "44", "7700 900 123");
    request.pin_mode = PinMode::Pin {
        pin: PinValue::PlainText(SecretString::from("4821")),
        user_can_change_pin: false,
    };
    let seen = AuthenticationRequest::decode(&request.encode().unwrap()).unwrap();
    assert_eq!(seen.phone_number, "7700900123");
    let PinMode::Pin { pin, .. } = &seen.pin_mode else {
        panic!("pin mode expected")
    };
    assert!(!pin.matches("1111"));

    let reply = PfdResponse {
        request_id: seen.request_id.clone(),
        result: PfdResult::Success(AuthenticationResponse::new(false, CallStatus::PIN_ENTERED)),
    };
    let read = PfdResponse::decode(&reply.encode("127.0.0.1"), "41").unwrap();
    let PfdResult::Success(r) = read.result else {
        panic!("success expected")
    };
    assert_eq!(
        CallOutcome::from_status(r.authenticated, r.call_status),
        CallOutcome::Denied {
            reason: DenyReason::WrongPin,
            status: CallStatus(1)
        }
    );
}

#[test]
fn secrets_do_not_show_in_debug_output() {
    let mut request = AuthenticationRequest::new("1", "KEY", "u", "1", "9259249500");
    request.pin_mode = PinMode::Pin {
        pin: PinValue::PlainText(SecretString::from("482193")),
        user_can_change_pin: false,
    };
    assert!(!format!("{request:?}").contains("482193"));
}
