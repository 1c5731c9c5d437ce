"""Names and values of the fake tenant's app registration, shared by the live tests
(kept apart from helpers_live so test modules can import them without importing the
fixture plugin before pytest registers it)."""

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "fake-secret-Zq8~" + "k3Jd9Lm2Np5Rs7Tv"
SECRET_ENV = "CONNGUARD_TEST_SECRET"
SUBJECT = "repo:contoso/mail-guard:ref:refs/heads/main"
PASSWORD_ENV = "CONNGUARD_TEST_PEM_PASSWORD"
