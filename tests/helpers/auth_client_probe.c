/*
 * auth_client_probe.c: drives lib/auth_client.c from test_authd.py against a
 * real sluice-authd. Usage: auth_client_probe SOCKET SERVICE USER IP TIMEOUT_MS
 * with the password (any bytes) on standard input, taken exactly. Prints
 * "OK <canonical user>", "FAIL <reason>" or "TEMPFAIL <reason>" and exits
 * 0, 1 or 2 accordingly.
 */
#include "auth_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char password[AUTH_LINE_MAX * 2];
	size_t len = 0;
	ssize_t n;
	const char *error = "";
	char *user = NULL;

	if (argc != 6) {
		fprintf(stderr, "usage: auth_client_probe SOCKET SERVICE USER IP TIMEOUT_MS\n");
		return 64;
	}
	while (len < sizeof(password) && (n = read(0, password + len, sizeof(password) - len)) > 0)
		len += (size_t)n;
	struct auth_client_request req = {
	    .service = argv[2],
	    .user = argv[3],
	    .password = password,
	    .password_len = len,
	    .client_ip = argv[4],
	};
	switch (auth_client_verify(argv[1], atoll(argv[5]), &req, &user, &error)) {
	case AUTH_CLIENT_OK:
		printf("OK %s\n", user);
		free(user);
		return 0;
	case AUTH_CLIENT_FAIL:
		printf("FAIL %s\n", error);
		return 1;
	case AUTH_CLIENT_TEMPFAIL:
		printf("TEMPFAIL %s\n", error);
		return 2;
	}
	return 3;
}
