from agora.core.errors import Conflict, NotAuthenticated, RateLimited, ValidationFailed


class SignupError(ValidationFailed):
    code = "signup_invalid"


class EmailTaken(Conflict):
    code = "email_taken"


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class LoginRateLimited(RateLimited):
    code = "login_rate_limited"


class InvalidResetLink(ValidationFailed):
    code = "invalid_reset_link"
