"""Django settings. Every value comes from the environment; see .env.example."""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from server.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BELLMAN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# No production default: DJANGO_SECRET_KEY, else the key `make setup` / `make demo` generated into
# var/secret_key (0600), so that `manage.py ...` works after them as the README shows; else it refuses to start.
_KEY_FILE = VAR_DIR / "secret_key"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", (_KEY_FILE.read_text().strip() if _KEY_FILE.is_file() else None)
                     or ("insecure-development-key" if DEBUG else None))
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "server.courses",
    "server.submissions",
    "server.reviews",
    "server.similarity",
    "server.lti",
    "server.dashboard",
    "server.notifications",
    "server.api",
    "ninja",  # django-ninja: its Swagger page from local static files (the CSP allows no CDN)
    "anymail",
    "axes",
    "csp",
]

MIDDLEWARE = [
    # First: a body over the cap is refused before any other middleware (CSRF) or view reads it.
    "server.security.RequestBodyLimitMiddleware",
    # Errors Django answers itself under /api/ (unknown path, method, server error) become the API's JSON.
    "server.api.middleware.ApiJsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (WhiteNoise), right after SecurityMiddleware as it asks: served with DEBUG off too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before the session and CSRF middleware, so that it sees their cookies (server/lti/embedding.py).
    "server.lti.embedding.EmbeddableCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After the two above, so that it answers first: the LMS that launched a session frames its pages.
    "server.lti.embedding.LmsFramingMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "server.urls"
WSGI_APPLICATION = "server.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE_DIR / "server" / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": dj_database_url.parse(
    env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bellman.sqlite3'}"), conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The worker and the web process write the same file: wait for locks instead of failing.
    # WAL: readers never wait for the writer, so pages stay fast while workers store reports.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE",
                                       "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    test_db = env_str("BELLMAN_TEST_DATABASE", "")
    if test_db:
        DATABASES["default"]["TEST"] = {"NAME": test_db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes), on the site's login and the admin's alike (both go through
# authenticate()): after BELLMAN_LOGIN_FAILURES wrong passwords for one account from one address, that
# pair is refused for BELLMAN_LOGIN_COOLOFF_MINUTES. Counted per account and address together, not per
# address alone: a lecture hall behind one NAT address must not lock itself out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("BELLMAN_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BELLMAN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (the admin lists them); not a record of every login
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "server.security.client_ip"
# A new account's set-password link (shown to the instructor, sent by e-mail) stays valid a week.
PASSWORD_RESET_TIMEOUT = env_int("BELLMAN_PASSWORD_LINK_SECONDS", 7 * 24 * 3600)
BELLMAN_MAX_ROSTER_BYTES = env_int("BELLMAN_MAX_ROSTER_BYTES", 2 * 1024 * 1024)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("BELLMAN_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves it (empty until collectstatic fills it)
STATICFILES_DIRS = [BASE_DIR / "server" / "static"]
# WhiteNoise serves the static files from the apps' folders (Django's finders: a checkout needs no collectstatic),
# and STATIC_ROOT compressed where `manage.py collectstatic` filled it (docker-compose's nginx serves that folder).
STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True

# true when a reverse proxy that sets X-Forwarded-Proto and X-Forwarded-For (docker/nginx.conf) is the
# only way in: only then are those headers believed (HTTPS, and the client address for login throttling).
BELLMAN_BEHIND_PROXY = env_bool("BELLMAN_BEHIND_PROXY", False)
# LTI 1.3: a platform's URLs must be HTTPS; this lets them be plain HTTP on a loopback address (tests and local
# development only: everything else about a launch is checked as in production).
BELLMAN_LTI_ALLOW_INSECURE = env_bool("BELLMAN_LTI_ALLOW_INSECURE", False)
# true (HTTPS deployments only): Bellman's pages work inside the LMS's iframe: the session and CSRF cookies are
# SameSite=None; Secure; Partitioned, as a browser sends them in a third-party frame (server/lti/embedding.py).
BELLMAN_LTI_EMBED = env_bool("BELLMAN_LTI_EMBED", False)
if BELLMAN_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS: browsers that reached the site over HTTPS keep to HTTPS for this long (sent on HTTPS responses
# only). Off in DEBUG; subdomains are left alone unless asked (a university's other sites are not ours).
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
# Content Security Policy (django-csp): scripts and styles only from the site's own static files (no
# inline script, style or event handler anywhere: chart data travels in json_script blocks, which are
# data, not script); no plugins, no framing, forms post only here.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Uploads: the form refuses anything larger with a message.
BELLMAN_MAX_UPLOAD_BYTES = env_int("BELLMAN_MAX_UPLOAD_BYTES", 1024 * 1024)
# Every request: a body above this is refused (413) before anything reads it (server.security). Above the
# largest upload a form takes (a roster, an assignment file), so that the forms can still say themselves
# that a file is too large. The reverse proxy's client_max_body_size (docker/nginx.conf) matches it.
BELLMAN_MAX_REQUEST_BYTES = env_int("BELLMAN_MAX_REQUEST_BYTES",
                                    max(BELLMAN_MAX_UPLOAD_BYTES, BELLMAN_MAX_ROSTER_BYTES) + 256 * 1024)
# A body that passes the cap is small enough to keep in memory: no upload is spooled to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = BELLMAN_MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = BELLMAN_MAX_REQUEST_BYTES

# The JSON API (/api/v1/, docs/api.md): requests per user and per token ("N/s", "N/min", "N/hour", "N/day").
# Reads (every GET) and submissions are counted apart; an assignment's submission limit applies as well.
BELLMAN_API_RATE_READ = env_str("BELLMAN_API_RATE_READ", "60/min")
BELLMAN_API_RATE_SUBMIT = env_str("BELLMAN_API_RATE_SUBMIT", "10/min")
# A new API token's life in days, as the token page offers it first (7, 30, 90, 180, 365, or 0: never expires);
# the notebook cell's tokens expire with their course instead.
BELLMAN_API_TOKEN_DAYS = env_int("BELLMAN_API_TOKEN_DAYS", 90)
# Where those counts live: Django's cache. Empty: each web process counts for itself (in memory), so with
# gunicorn's N workers a client may get up to N times the rate; a redis:// URL shares the counts.
BELLMAN_CACHE_URL = env_str("BELLMAN_CACHE_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": BELLMAN_CACHE_URL}
          if BELLMAN_CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery (Redis as the broker; results live in the database, not in Celery's backend).
CELERY_BROKER_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The ceilings: each grading task gets limits derived from its assignment's spec (the longest its checks
# can take, plus a minute; services.task_limits), never above these, and stops by them with a result.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("BELLMAN_TASK_SOFT_TIME_LIMIT", 900)
CELERY_TASK_TIME_LIMIT = env_int("BELLMAN_TASK_TIME_LIMIT", 960)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Priorities on Redis: one list per step, read in order, so priority 0 (a new submission) is always
# taken before 6 (a regrade). Redis serves lower numbers first.
# A message sent while Redis is down fails at once (two connection attempts, not kombu's retries for about six
# seconds): an upload or an LMS launch is answered without waiting, and the sweeper sends it later. The workers'
# own connection keeps retrying (broker_connection_max_retries).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 120,
                                   "priority_steps": list(range(10)), "sep": ":",
                                   "queue_order_strategy": "priority",
                                   "max_retries": 1, "interval_start": 0}
CELERY_TASK_ALWAYS_EAGER = env_bool("BELLMAN_TASKS_EAGER", False)
# A grading run records a heartbeat this often; one silent for six beats has lost its worker, and the
# sweeper (every BELLMAN_SWEEP_SECONDS) queues its submission again, as it does a queued submission
# whose task the broker lost.
BELLMAN_HEARTBEAT_SECONDS = float(env_str("BELLMAN_HEARTBEAT_SECONDS", "10"))
BELLMAN_SWEEP_SECONDS = float(env_str("BELLMAN_SWEEP_SECONDS", "30"))

# Sandboxes.
SANDBOX_BACKEND = env_str("SANDBOX_BACKEND", "auto")
SANDBOX_IMAGE = env_str("SANDBOX_IMAGE", "bellman-sandbox:latest")
# bwrap runs as uid 65534, which must be able to reach this path: as root, a system folder
# (a checkout may live under a private home or temp directory).
SANDBOX_ROOTFS = env_str("SANDBOX_ROOTFS", "/var/lib/bellman/sandbox-rootfs" if os.geteuid() == 0
                         else str(VAR_DIR / "sandbox" / "rootfs"))
SANDBOX_RUNTIME = env_str("SANDBOX_RUNTIME", "")
SANDBOX_TMP_DIR = env_str("SANDBOX_TMP_DIR", "") or None
GRADER_PARALLEL_RUNS = env_int("GRADER_PARALLEL_RUNS", 2)
BELLMAN_ASSIGNMENTS_DIR = Path(env_str("BELLMAN_ASSIGNMENTS_DIR", str(BASE_DIR / "assignments")))

# E-mail, with Django's own names. With no EMAIL_HOST nothing is sent (unless a provider's backend is set).
EMAIL_BACKEND = env_str("BELLMAN_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Bellman <bellman@localhost>")
# django-anymail reads ANYMAIL_<PROVIDER>_<SETTING> (e.g. ANYMAIL_POSTMARK_SERVER_TOKEN) from settings.
for _name, _value in os.environ.items():
    if _name.startswith("ANYMAIL_") and _value:
        globals()[_name] = _value
# Links in e-mails point here.
BELLMAN_BASE_URL = env_str("BELLMAN_BASE_URL", "http://127.0.0.1:8000")
BELLMAN_MAIL_RATE = float(env_str("BELLMAN_MAIL_RATE", "10"))  # messages per second, per sending worker
BELLMAN_MAIL_RETRY_FOR = timedelta(hours=env_int("BELLMAN_MAIL_RETRY_HOURS", 26))

# /metrics (server/metrics.py, docs/deploy.md): Prometheus scrapes it with this bearer token; staff sessions too.
BELLMAN_METRICS_TOKEN = env_str("BELLMAN_METRICS_TOKEN", "")

# Periodic work (celery beat). The grade passback's sweep: LMS columns made, grades recorded again, retries sent.
BELLMAN_LTI_SWEEP_SECONDS = float(env_str("BELLMAN_LTI_SWEEP_SECONDS", "120"))
CELERY_BEAT_SCHEDULE = {
    "submissions-sweep": {"task": "server.submissions.tasks.submissions_sweep", "schedule": BELLMAN_SWEEP_SECONDS},
    "mail-sweep": {"task": "server.notifications.tasks.mail_sweep", "schedule": 60.0},
    "deadline-reminders": {"task": "server.notifications.tasks.reminders_send", "schedule": 15 * 60.0},
    "lti-grades": {"task": "server.lti.tasks.grades_sweep", "schedule": BELLMAN_LTI_SWEEP_SECONDS},
    "lti-rosters": {"task": "server.lti.tasks.roster_sweep", "schedule": 6 * 3600.0},
    "similarity": {"task": "server.similarity.tasks.similarity_sweep", "schedule": 15 * 60.0},
    "instructor-digests": {"task": "server.notifications.tasks.digests_send",
                           "schedule": crontab(hour=env_int("BELLMAN_DIGEST_HOUR", 7), minute=0)},
}
# Queues: "celery" (unit checks, seconds), "training" (learning curves, minutes), "mail", "lti" (grades to LMSs).
CELERY_TASK_ROUTES = {"server.notifications.tasks.*": {"queue": "mail"}, "server.lti.tasks.*": {"queue": "lti"},
                      "server.submissions.tasks.train_submission": {"queue": "training"},
                      "server.similarity.tasks.*": {"queue": "training"}}  # CPU work, on the training hosts

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("BELLMAN_LOG_LEVEL", "INFO")},
    # django-axes: failed logins and lockouts (warnings), not every successful login and clean-up.
    "loggers": {"axes": {"level": "WARNING"}},
}
