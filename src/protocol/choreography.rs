//! The `choreography!` macro: a two-role protocol written once, projected to each role.
//!
//! ```text
//! choreography! {
//!     protocol RequestResponse {
//!         roles: Client, Server;
//!         Client[guard_capability = "send_request", flow_cost = 50]
//!             -> Server: SendRequest(Vec<u8>);
//!         Server[guard_capability = "send_response", flow_cost = 30, journal_facts = "response_sent"]
//!             -> Client: SendResponse(Vec<u8>);
//!     }
//! }
//! ```
//!
//! It generates, in the module where it is invoked: one struct per message (a newtype over
//! its payload) implementing [`Message`](super::session::Message); `roles::{A, B}` markers;
//! `session::A` and `session::B`, the projected session type of each role; and `ANNOTATIONS`,
//! the table the guard chain reads. After the linear steps, an optional
//! `@loop Decider as Name { continue { … } break { … } }` repeats the `continue` steps for as
//! long as `Decider` chooses, then runs the `break` steps: the decider's projection is a
//! [`Choose`](super::session::Choose), the other's an [`Offer`](super::session::Offer),
//! and the loop is the named recursion [`Rec`](super::session::Rec)`<Name<Role>>`.
//!
//! Projection is done by the trait system rather than by the macro: comparing two identifiers
//! is beyond `macro_rules`, so each step becomes `<Role as Project<Sender, M, Rest>>::Out`, and
//! the macro writes the four impls that say a role sends what it is the sender of and receives
//! the rest. That limits choreographies to two roles, which is what every protocol of Aura
//! (sync, invitation, relationship formation, welcome) is; more roles would need a proc-macro.

/// Projects one step: implemented on a role for each possible sender.
pub trait Project<Sender, M, Rest> {
    type Out;
}

/// Projects a choice: `Choose` for the role that decides, `Offer` for the other.
pub trait Decide<Decider, L, R> {
    type Out;
}

/// Holds only when `Self` and `T` are the same type; for tests of projections.
pub trait SameAs<T> {}
impl<T> SameAs<T> for T {}

/// Compiles only when `A` and `B` are the same type.
pub fn assert_same_type<A: SameAs<B>, B>() {}

#[macro_export]
macro_rules! choreography {
    (@proj $role:ident; $tail:ty; ) => { $tail };
    (@proj $role:ident; $tail:ty; $from:ident -> $msg:ident; $($rest:tt)*) => {
        <roles::$role as $crate::protocol::choreography::Project<
            roles::$from,
            $msg,
            $crate::choreography!(@proj $role; $tail; $($rest)*),
        >>::Out
    };
    (@tail $role:ident; ) => { $crate::protocol::session::End };
    (@tail $role:ident; $lp:ident) => { $crate::protocol::session::Rec<$lp<roles::$role>> };
    (@annotation $protocol:ident, $from:ident, $to:ident, $msg:ident;
        guard_capability = $cap:literal, flow_cost = $cost:literal
        $(, journal_facts = $fact:literal)? $(,)?) => {
        $crate::protocol::annotation::Annotation {
            protocol: stringify!($protocol),
            message: stringify!($msg),
            from: stringify!($from),
            to: stringify!($to),
            guard_capability: $cap,
            flow_cost: $cost,
            journal_facts: &[$($fact)?],
        }
    };
    (@message $protocol:ident, $from:ident, $to:ident, $msg:ident, $payload:ty; $($ann:tt)*) => {
        #[derive(Debug)]
        pub struct $msg(pub $payload);

        impl $msg {
            pub const ANNOTATION: $crate::protocol::annotation::Annotation =
                $crate::choreography!(@annotation $protocol, $from, $to, $msg; $($ann)*);
        }

        impl $crate::protocol::session::Message for $msg {
            type Payload = $payload;
            fn annotation() -> &'static $crate::protocol::annotation::Annotation {
                &Self::ANNOTATION
            }
            fn payload(&self) -> &$payload {
                &self.0
            }
            fn from_payload(payload: $payload) -> Self {
                Self(payload)
            }
        }
    };
    (@roles $a:ident, $b:ident) => {
        /// The roles of this choreography, as type-level markers.
        pub mod roles {
            use $crate::protocol::choreography::{Decide, Project};
            use $crate::protocol::session::{Choose, Offer, Recv, Send};

            #[derive(Debug)]
            pub struct $a;
            #[derive(Debug)]
            pub struct $b;

            impl<M, Rest> Project<$a, M, Rest> for $a { type Out = Send<M, Rest>; }
            impl<M, Rest> Project<$b, M, Rest> for $a { type Out = Recv<M, Rest>; }
            impl<M, Rest> Project<$b, M, Rest> for $b { type Out = Send<M, Rest>; }
            impl<M, Rest> Project<$a, M, Rest> for $b { type Out = Recv<M, Rest>; }
            impl<L, R> Decide<$a, L, R> for $a { type Out = Choose<L, R>; }
            impl<L, R> Decide<$b, L, R> for $a { type Out = Offer<L, R>; }
            impl<L, R> Decide<$b, L, R> for $b { type Out = Choose<L, R>; }
            impl<L, R> Decide<$a, L, R> for $b { type Out = Offer<L, R>; }
        }
    };
    (@loop_body $role:ident, $decider:ident, $lp:ident;
        [$($cfrom:ident -> $cmsg:ident;)*] [$($bfrom:ident -> $bmsg:ident;)*]) => {
        impl $crate::protocol::session::Loop for $lp<roles::$role> {
            type Body = <roles::$role as $crate::protocol::choreography::Decide<
                roles::$decider,
                $crate::choreography!(@proj $role; $crate::protocol::session::Rec<$lp<roles::$role>>; $($cfrom -> $cmsg;)*),
                $crate::choreography!(@proj $role; $crate::protocol::session::End; $($bfrom -> $bmsg;)*),
            >>::Out;
        }
    };
    (
        $(#[$meta:meta])*
        protocol $name:ident {
            roles: $a:ident, $b:ident;
            $( $from:ident [ $($ann:tt)* ] -> $to:ident : $msg:ident ( $payload:ty ); )*
            $( @loop $decider:ident as $lp:ident {
                continue {
                    $( $cfrom:ident [ $($cann:tt)* ] -> $cto:ident : $cmsg:ident ( $cpayload:ty ); )*
                }
                break {
                    $( $bfrom:ident [ $($bann:tt)* ] -> $bto:ident : $bmsg:ident ( $bpayload:ty ); )*
                }
            } )?
        }
    ) => {
        $(#[$meta])*
        pub const PROTOCOL: &str = stringify!($name);

        $crate::choreography!(@roles $a, $b);

        $( $crate::choreography!(@message $name, $from, $to, $msg, $payload; $($ann)*); )*
        $(
            $( $crate::choreography!(@message $name, $cfrom, $cto, $cmsg, $cpayload; $($cann)*); )*
            $( $crate::choreography!(@message $name, $bfrom, $bto, $bmsg, $bpayload; $($bann)*); )*

            /// The loop of this choreography, seen by one role.
            #[derive(Debug)]
            pub struct $lp<R>(::core::marker::PhantomData<R>);

            $crate::choreography!(@loop_body $a, $decider, $lp;
                [$($cfrom -> $cmsg;)*] [$($bfrom -> $bmsg;)*]);
            $crate::choreography!(@loop_body $b, $decider, $lp;
                [$($cfrom -> $cmsg;)*] [$($bfrom -> $bmsg;)*]);
        )?

        /// Every message's annotations, in the order the choreography declares them.
        pub static ANNOTATIONS: &[&$crate::protocol::annotation::Annotation] = &[
            $( &$msg::ANNOTATION, )*
            $( $( &$cmsg::ANNOTATION, )* $( &$bmsg::ANNOTATION, )* )?
        ];

        /// The projected session type of each role.
        pub mod session {
            #[allow(unused_imports)]
            use super::*;

            pub type $a = $crate::choreography!(@proj $a;
                $crate::choreography!(@tail $a; $($lp)?); $($from -> $msg;)*);
            pub type $b = $crate::choreography!(@proj $b;
                $crate::choreography!(@tail $b; $($lp)?); $($from -> $msg;)*);
        }
    };
}
