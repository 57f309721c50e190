"""Analytics URLs: the tenant is part of the path and must be one of the user's."""

from django.urls import path

from apps.analytics import views

app_name = "analytics"
urlpatterns = [
    path("", views.home, name="home"),
    path("assets/plotly.min.js", views.plotly_js, name="plotly-js"),
    path("ops/", views.operations, name="operations"),
    path("<str:tenant>/<str:page>/", views.page, name="page"),
    path("<str:tenant>/<str:page>.csv", views.page_csv, name="page-csv"),
]
