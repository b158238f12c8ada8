#!/bin/sh
# Run a private Dovecot (IMAP + POP3, one user "test" / "secret") on 127.0.0.1 for the tests.
# Usage: dovecot.sh DIR IMAP_PORT POP3_PORT [IMAPS_PORT POP3S_PORT]. With the TLS ports, DIR/cert.pem and DIR/key.pem
# serve TLS there (and STARTTLS/STLS on the plain ports). It writes DIR/dovecot.conf and never reads the system's.
set -eu
DIR=$(cd "$1" && pwd); IMAP_PORT=$2; POP3_PORT=$3; IMAPS_PORT=${4:-0}; POP3S_PORT=${5:-0}
SSL=no
if [ "$IMAPS_PORT" != 0 ]; then SSL=yes; fi
USER_NAME=$(id -un); GROUP_NAME=$(id -gn); UID_N=$(id -u); GID_N=$(id -g)
LOGIN_USER=$USER_NAME; MAIL_UID=$UID_N; MAIL_GID=$GID_N
if [ "$UID_N" = 0 ]; then
  # as root: the login process must not run as root, and Dovecot refuses uid 0 for mail access
  LOGIN_USER=dovenull; MAIL_UID=$(id -u nobody); MAIL_GID=$(id -g nobody)
fi
mkdir -p "$DIR/run" "$DIR/state" "$DIR/mail"
chown "$MAIL_UID:$MAIL_GID" "$DIR/mail"
printf 'test:{PLAIN}secret\n' > "$DIR/passwd"
cat > "$DIR/dovecot.conf" <<CONF
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = $SSL
ssl_cert = <$DIR/cert.pem
ssl_key = <$DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $USER_NAME
default_internal_group = $GROUP_NAME
default_login_user = $LOGIN_USER
first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/passwd
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$DIR/mail/%u
}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    address = 127.0.0.1
    port = $POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $POP3S_PORT
  }
}
service anvil {
  chroot =
}
CONF
exec /usr/sbin/dovecot -F -c "$DIR/dovecot.conf"
